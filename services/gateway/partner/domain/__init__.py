"""Partner cities, their scopes and the authorities each acts for."""
