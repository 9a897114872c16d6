"""Symetrisk credit-trend pipeline: dlt source, sandbox API, SQL model runner and CLI."""
