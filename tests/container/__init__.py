"""Tests that build the action image and run it as the GitHub runner and GitLab do."""
