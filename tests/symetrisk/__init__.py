"""Tests of symetrisk."""
