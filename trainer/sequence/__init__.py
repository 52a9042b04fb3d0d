"""Morphs: a film's keys and moves through pictures, their chained export and their film."""
