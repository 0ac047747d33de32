"""The Vivavoce engine: recognition, audio and transcripts, without Qt."""
