"""Answer quality: labelled visitor messages for invented businesses (see README.md)."""
