"""stackchain's composition root, in rooms: stackfile, core, web, launch, cli (see the README)."""
