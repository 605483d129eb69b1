"""The application: publishing a campaign, the operators' report, closed-campaign outcomes and
the inputs the gates and the decision read. It uses models/, expectations/ and the platform;
only flows/ uses it."""
