"""The staged risk run: read, plan, read the local book, price, risk, reduce, write."""
