"""Tests of the Symetrisk credit-trend pipeline, laid out as pipelines/ is."""
