"""tensorflux-opencl: an OpenCL device plugin for tensorflux (``tf.device('/opencl:0')``)."""
