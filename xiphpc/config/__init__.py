"""Job files and the errors that report bad input; nothing here imports the pricing library."""
