"""Pure EKS code: node sizing, AMI types and the managed add-ons."""
