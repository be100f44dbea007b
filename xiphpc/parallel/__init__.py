"""The only package that talks to MPI: communicators, collectives and the work share."""
