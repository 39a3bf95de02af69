"""Double (blind) verification: a random share of a cycle's submissions verified a second time,
independently, so that agreement between evaluators can be measured."""
