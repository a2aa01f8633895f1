// validate-compose loads Compose files with compose-go, the Compose specification's reference
// loader (schema validation, interpolation, merging of several files, model checks), and prints
// the resolved project as JSON. deploy/test/manifests.int.test.ts builds and runs it offline.
//
//	validate-compose -f docker-compose.yml [-f override.yml]
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	var files []string
	for i := 1; i < len(os.Args); i++ {
		if os.Args[i] == "-f" && i+1 < len(os.Args) {
			files = append(files, os.Args[i+1])
			i++
			continue
		}
		fmt.Fprintf(os.Stderr, "usage: validate-compose -f FILE [-f FILE]...\n")
		os.Exit(64)
	}
	options, err := cli.NewProjectOptions(files, cli.WithOsEnv, cli.WithProfiles([]string{"*"}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Stdout.Write(out)
}
