"""GraphDef and MetaGraphDef files: converting graphs, tensors and attributes to protobuf and back."""
