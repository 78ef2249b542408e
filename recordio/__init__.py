"""RecordIO-protobuf, the binary format of SageMaker's built-in algorithms (aialgs.data.Record)."""
