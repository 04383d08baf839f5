"""Networks shared by methods (DIP's skip encoder–decoder, …)."""
