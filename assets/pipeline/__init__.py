"""The lab's pipeline: MNIST k-means on SageMaker, built from the generated ACK components.

``mnist_pipeline.build_pipeline(components)`` returns the pipeline function; ``naming`` says how
a run's resources are named; ``glue`` holds the small lightweight components between them.
"""
