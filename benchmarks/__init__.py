"""`make bench`: build the data sets, start the server, measure it, and write BENCHMARKS.md."""
