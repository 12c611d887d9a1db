"""The treasurer's books: the dated exchange-rate table that converts payments, and payments as
the books see them (reported by members, confirmed or rejected by a treasurer)."""
