"""Framework-free OAuth 2.0 protocol pieces: errors, parameters, PKCE and redirect URIs."""
