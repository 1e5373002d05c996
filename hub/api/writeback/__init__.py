"""Write-backs: the hub's changes on their way to the platforms (``connections:admin``)."""
