"""Domain logic: plain values in, results or typed errors out. No Slack, no tweepy."""
