"""qs-jwt: mint JSON Web Tokens for Qlik Sense (QSEoW virtual proxies and Qlik Cloud)."""

__version__ = "0.1.0"
