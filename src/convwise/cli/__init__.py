"""The `convwise` command line: argument parsing and printing only."""
