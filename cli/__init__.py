"""The ``emberwatch`` command line: the one package that imports all the others, benchmarks
included."""
