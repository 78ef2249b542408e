"""SageMaker made strict: request validation, UpdateEndpoint, endpoint lifecycle and fleet health."""
