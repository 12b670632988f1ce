#!/usr/bin/env bash
# Regenerates prometheus-3.json and prometheus-2.json: runs every query of cases.json through the
# real Prometheus engine (its promql package, fetched from the Go module proxy) on the same data.
# Needs Go >= 1.24. Not part of `npm test`; run it after changing cases.json:
#   bash test/infra/metrics/conformance/regenerate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Version-specific glue: how to build an engine, load a promqltest `load` block and run a query.
glue_v3='
import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
)

func newEngine(t *testing.T, opts promql.EngineOpts) *promql.Engine { return promqltest.NewTestEngineWithOpts(t, opts) }

func loadStorage(t *testing.T, block string) (storage.Queryable, func()) {
	s := promqltest.LoadedStorage(t, block)
	return s, func() { s.Close() }
}

func instantQuery(e *promql.Engine, q storage.Queryable, expr string, ts time.Time) (promql.Query, error) {
	return e.NewInstantQuery(context.Background(), q, nil, expr, ts)
}

func floatOf(s promql.Sample) float64 { return s.F }
'
glue_v2='
import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

func newEngine(_ *testing.T, opts promql.EngineOpts) *promql.Engine { return promql.NewEngine(opts) }

func loadStorage(t *testing.T, block string) (storage.Queryable, func()) {
	test, err := promql.NewTest(t, block)
	if err != nil {
		t.Fatal(err)
	}
	if err := test.Run(); err != nil {
		t.Fatal(err)
	}
	return test.Queryable(), test.Close
}

func instantQuery(e *promql.Engine, q storage.Queryable, expr string, ts time.Time) (promql.Query, error) {
	return e.NewInstantQuery(q, nil, expr, ts)
}

func floatOf(s promql.Sample) float64 { return s.V }
'

harness='
import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

type query struct {
	Expr string  `json:"expr"`
	At   float64 `json:"at"`
}

type testCase struct {
	Step    string            `json:"step"`
	Series  map[string]string `json:"series"`
	Queries []query           `json:"queries"`
}

type element struct {
	Metric map[string]string `json:"metric"`
	Value  string            `json:"value"`
}

type answer struct {
	Expr   string    `json:"expr"`
	At     float64   `json:"at"`
	Type   string    `json:"type"`
	Result []element `json:"result,omitempty"`
	Scalar string    `json:"scalar,omitempty"`
	Error  string    `json:"error,omitempty"`
}

func format(v float64) string { return strconv.FormatFloat(v, byte(103), -1, 64) }

func TestConformance(t *testing.T) {
	raw, err := os.ReadFile(os.Getenv("CASES"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	engine := newEngine(t, promql.EngineOpts{MaxSamples: 10000000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute, EnableAtModifier: true, EnableNegativeOffset: true})
	answers := []answer{}
	for _, c := range cases {
		var block strings.Builder
		block.WriteString("load " + c.Step + "\n")
		for descriptor, values := range c.Series {
			block.WriteString("  " + descriptor + " " + values + "\n")
		}
		queryable, closeStorage := loadStorage(t, block.String())
		for _, q := range c.Queries {
			a := answer{Expr: q.Expr, At: q.At, Type: "error"}
			qry, err := instantQuery(engine, queryable, q.Expr, time.UnixMilli(int64(q.At*1000)))
			if err != nil {
				a.Error = err.Error()
				answers = append(answers, a)
				continue
			}
			res := qry.Exec(context.Background())
			if res.Err != nil {
				a.Error = res.Err.Error()
			} else if v, ok := res.Value.(promql.Vector); ok {
				// Storage order follows series creation, random here; sort for stable files.
				sort.SliceStable(v, func(i, j int) bool { return labels.Compare(v[i].Metric, v[j].Metric) < 0 })
				a.Type, a.Result = "vector", []element{}
				for _, s := range v {
					a.Result = append(a.Result, element{Metric: s.Metric.Map(), Value: format(floatOf(s))})
				}
			} else if s, ok := res.Value.(promql.Scalar); ok {
				a.Type, a.Scalar = "scalar", format(s.V)
			}
			qry.Close()
			answers = append(answers, a)
		}
		closeStorage()
	}
	out, _ := json.MarshalIndent(answers, "", " ")
	if err := os.WriteFile(os.Getenv("OUT"), append(out, byte(10)), 0o644); err != nil {
		t.Fatal(err)
	}
}
'

run() { # $1 module version, $2 glue, $3 output file
  local dir="$work/$1"
  mkdir -p "$dir"
  printf 'module conformance\n\ngo 1.24\n' > "$dir/go.mod"
  printf 'package conformance\n%s' "$2" > "$dir/glue_test.go"
  printf 'package conformance\n%s' "$harness" > "$dir/conformance_test.go"
  # `go get` of the imported packages (not `go mod tidy`, which also wants modules the proxy no longer serves).
  local packages=(promql promql/promqltest model/labels storage)
  [ "$1" = v0.42.0 ] && packages=(promql model/labels storage)
  (cd "$dir" && for p in "${packages[@]}"; do go get "github.com/prometheus/prometheus/$p@$1" >/dev/null; done)
  (cd "$dir" && CASES="$here/cases.json" OUT="$here/$3" go test -count=1 ./...)
}

run v0.316.0 "$glue_v3" prometheus-3.json   # Prometheus 3.x
run v0.42.0 "$glue_v2" prometheus-2.json    # Prometheus 2.42 (Debian bookworm's package)
