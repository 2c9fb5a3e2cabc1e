package api

// routes registers every route of the service in one readable list.
func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", s.healthzHandler)
	e.GET("/readyz", s.readyzHandler)
}
