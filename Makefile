# Developer shortcuts. The test command of the README and of CI (.ci/run) is scripts/test.sh.
.PHONY: test build vet fmt bench

test:
	scripts/test.sh

build:
	go build ./...

vet:
	go vet ./...

fmt:
	gofmt -l -w .

# The upsert throughput benchmark against a real PostGIS
# (HOTSPOTS_TEST_DATABASE_URL must be set, e.g. by scripts/test.sh's setup).
bench:
	go test -run '^$$' -bench UpsertIncidents -benchtime 3x ./geo/postgis/
