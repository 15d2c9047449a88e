# SigningTable (refile:): patterns, first match wins
*@example.com	rsa._domainkey.example.com
*@example.com	ed._domainkey.example.com
*@*.example.org	org
*@example.org	org
*		any
