"""Helpers the tests share; tests never import each other."""
