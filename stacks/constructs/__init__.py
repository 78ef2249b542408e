"""Small constructs, one architectural piece each, wired together by KMeansEndpointStack."""
