// Package searchattr makes sure a namespace has the custom search attributes
// journeys upsert. A journey that upserts an attribute the namespace lacks
// fails its workflow task over and over, so the worker checks before it polls.
package searchattr

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

// Ensure adds to namespace the attributes of attrs it lacks and leaves the
// others alone, so it can run on every start. It returns the names it added.
// Where the caller may not add attributes (Temporal Cloud, a locked-down
// cluster) the error lists what an operator must register.
func Ensure(ctx context.Context, c client.Client, namespace string, attrs map[string]enums.IndexedValueType) ([]string, error) {
	existing, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("searchattr: list search attributes of namespace %q: %w", namespace, err)
	}
	missing := map[string]enums.IndexedValueType{}
	var names []string
	for name, typ := range attrs {
		if _, ok := existing.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
			names = append(names, name)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	sort.Strings(names)
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		var want []string
		for _, n := range names {
			want = append(want, n+"="+missing[n].String())
		}
		return nil, fmt.Errorf("searchattr: namespace %q lacks search attributes %s and adding them failed: %w",
			namespace, strings.Join(want, ", "), err)
	}
	return names, nil
}
