"""The Dataverse sandbox: a Dataverse Web API v9.2 with an Azure AD-like token endpoint."""
