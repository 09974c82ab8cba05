"""Kafka plumbing, outside the core: client configuration from settings
(:mod:`kafka_io.config`) and topic administration with kafka-python (:mod:`kafka_io.admin`)."""
