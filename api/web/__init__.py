"""The web pages for people: village assessors, bank credit officers, analysts and administrators (Chinese first)."""
