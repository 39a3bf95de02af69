"""What people look at: scorecards, comparative dashboards, exports."""
