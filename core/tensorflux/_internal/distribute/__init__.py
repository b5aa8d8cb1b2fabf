"""Private implementation of ``tensorflux.distribute``: the MPI communicator and host-side collectives."""
