package launch

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// mainPackage is the bazaar command.
const mainPackage = "github.com/bazaar-shop/bazaar"

// Build compiles the bazaar binary into dir and returns its path, for the
// tests that start it as a user does.
func Build(dir string) (string, error) {
	path := filepath.Join(dir, "bazaar")
	if out, err := exec.Command("go", "build", "-o", path, mainPackage).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return path, nil
}
