"""Dues and fees: the sliding scale, dues invoices, share instalments, payments and balances."""
