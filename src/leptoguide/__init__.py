"""LeptoGuide: offline, cited decision support and evidence for leptomeningeal disease.

Not a medical device. Decision support for clinicians and education for patients; every clinical
output traces to a cited knowledge-base statement.
"""

__version__ = "0.1.0"
