"""The bytes the k-means container and its callers exchange: content types, exact float32 text, requests and answers.

One library for both sides of the wire. The verifier, `scoring` and the benchmarks write requests and read
answers with it; the local AWS's runtime and transform engine read requests and write answers with it. A
writer and the reader it must match therefore cannot drift apart, and tests/wire round-trips each one.

Why a package beside `recordio/` rather than `recordio/` grown: `recordio/` is the RecordIO-protobuf layer
(the aialgs.data schema, its generated code, which the Makefile generates into that folder, and the framing),
used as it is here and by nothing that knows of HTTP; `wire` is the layer of request and answer bodies in
every content type, RecordIO-protobuf among them. Neither imports boto or moto. The payload limits are AWS's
facts and live in `aws_facts.payloads`.
"""
