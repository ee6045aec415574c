"""The web application: server-rendered pages for clinicians, patients and content reviewers."""
