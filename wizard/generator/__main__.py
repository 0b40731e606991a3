"""Run the generator on its own: python -m wizard.generator --crd TrainingJob --out components."""
from wizard.generator.cli import generate

if __name__ == "__main__":
    generate(prog_name="python -m wizard.generator")
