"""The bylaws module: the cooperative's rules as versioned, validated data."""
