"""Task checkers (rewards), Z3 analyses of guards and goals, and checker mutation testing."""
