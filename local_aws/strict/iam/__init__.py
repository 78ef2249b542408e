"""IAM made strict: policy evaluation, the roles moto holds, and authorizing every call."""
