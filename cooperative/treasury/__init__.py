"""The treasurer's books: the dated exchange-rate table that converts payments."""
