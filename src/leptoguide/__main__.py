from leptoguide.cli import main

main()
